// Gives every stage library at least one translation unit, so a stage whose sources
// are still being written links as an empty archive instead of failing to configure.
