import gizmo

EXTRA_FOR = gizmo.VERSION
