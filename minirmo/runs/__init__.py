"""The experiment layer: presets, the on-disk cache, one seed's artefact graph, the studies."""
