#!/usr/bin/python3
"""Writes a bert-base-uncased-sized BertModel checkpoint with random weights into DIR:
config.json (Hugging Face's bert-base-uncased config) and model.safetensors (F32, Hugging Face
tensor names, normal(0, 0.02), LayerNorm weights 1 and biases 0), for bench/bench_memory.sh.

    write_bert_checkpoint.py DIR [--layers N] [--seed S]

The safetensors file is written by hand (8-byte little-endian header length, JSON header with
dtype/shape/data_offsets, then the tensors back to back), so only numpy is needed.
"""
import argparse
import json
import os

import numpy as np

CONFIG = {
    "architectures": ["BertModel"], "model_type": "bert", "vocab_size": 30522, "hidden_size": 768,
    "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512,
    "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
    "position_embedding_type": "absolute", "torch_dtype": "float32",
}


def bert_shapes(c):
    """(Hugging Face name, shape) of every BertModel tensor, in the order Hugging Face saves them."""
    H, F = c["hidden_size"], c["intermediate_size"]
    out = [("embeddings.word_embeddings.weight", [c["vocab_size"], H]),
           ("embeddings.position_embeddings.weight", [c["max_position_embeddings"], H]),
           ("embeddings.token_type_embeddings.weight", [c["type_vocab_size"], H]),
           ("embeddings.LayerNorm.weight", [H]), ("embeddings.LayerNorm.bias", [H])]
    for i in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            out += [(p + name + ".weight", [H, H]), (p + name + ".bias", [H])]
        out += [(p + "attention.output.LayerNorm.weight", [H]), (p + "attention.output.LayerNorm.bias", [H]),
                (p + "intermediate.dense.weight", [F, H]), (p + "intermediate.dense.bias", [F]),
                (p + "output.dense.weight", [H, F]), (p + "output.dense.bias", [H]),
                (p + "output.LayerNorm.weight", [H]), (p + "output.LayerNorm.bias", [H])]
    out += [("pooler.dense.weight", [H, H]), ("pooler.dense.bias", [H])]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    config = dict(CONFIG, num_hidden_layers=args.layers)
    os.makedirs(args.dir, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    shapes = bert_shapes(config)
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in shapes:
        size = int(np.prod(shape)) * 4
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # data starts 8-byte aligned
    path = os.path.join(args.dir, "model.safetensors")
    with open(path + ".tmp", "wb") as f:
        f.write(len(head).to_bytes(8, "little"))
        f.write(head)
        for name, shape in shapes:
            if "LayerNorm.weight" in name:
                values = np.ones(shape, np.float32)
            elif name.endswith(".bias"):
                values = np.zeros(shape, np.float32)
            else:
                values = rng.normal(0.0, 0.02, size=shape).astype(np.float32)
            f.write(values.astype("<f4").tobytes())
    os.replace(path + ".tmp", path)
    with open(os.path.join(args.dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"wrote {path}: {len(shapes)} tensors, {offset} bytes of F32 weights")


if __name__ == "__main__":
    main()
