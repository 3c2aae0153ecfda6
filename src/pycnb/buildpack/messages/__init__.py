"""Every message the buildpack shows for an error a user can cause, one module per area.

Importing this package registers each area's renderers on `pycnb.buildpack.errors.render`.
"""

from pycnb.buildpack.errors import render
from pycnb.buildpack.messages import dependencies, general, launch, python, runtime

__all__ = ["dependencies", "general", "launch", "python", "render", "runtime"]
