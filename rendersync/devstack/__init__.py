"""``rendersync dev``: the whole stack, embedded, as supervised child processes."""
