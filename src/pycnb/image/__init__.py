"""OCI image export with no container engine: `pycnb build APP --image REF`.

One module per responsibility: `reference` (what REF means), `tarlayer` (reproducible layer
tarballs), `relocate` (build root -> /layers, /workspace), `launcher` (how the image starts a
process), `config` (image config and CNB labels), `blobs` (the local blob store), `run_image`,
`registry` (distribution API client), `layout` (OCI layouts), `docker_archive`, and `export`.
"""
