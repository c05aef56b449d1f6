"""vst-node for Blender's Video Sequencer: stylize a strip with the same stateful node as the CLI.

Metadata lives in blender_manifest.toml (an extension, no bl_info). vst_node itself is imported only
when first needed, so Blender starts quickly and the panel can say when its packages are missing.
"""

from . import compat, operator, properties, ui

_MODULES = (properties, operator, ui)


def register():
    compat.setup_environment()
    for module in _MODULES:
        module.register()


def unregister():
    for module in reversed(_MODULES):
        module.unregister()
