import gizmo
import gizmo_extra
import gizmo_plugins

SEES = {"gizmo": gizmo.VERSION, "extra": gizmo_extra.EXTRA_FOR, "plugins": gizmo_plugins.PLUGINS_FOR}
