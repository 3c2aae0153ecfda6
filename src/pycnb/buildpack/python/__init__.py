"""The Python runtime: which CPython the app gets, and installing it.

Choosing (`choice.choose_python`): `sources` reads where the app states a version (the version
files through `version_file`, Poetry's constraint through `poetry_constraint`), `resolve` matches
that against the manifest and `policy`, `default` keeps a default's X.Y for the next build; the
values are in `version`, `notices` and `errors`. Installing (`layer.install_python`): the
`manifest`'s distribution, fetched by `download` and unpacked by `archive`.
"""
