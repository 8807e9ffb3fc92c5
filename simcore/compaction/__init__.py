"""Memory compaction (mm/compaction.c), lumpy reclaim and their triggers. See `control` for the
theory of operation; `install.install` wires it into a Simulation."""
