from gizmo import VERSION as PLUGINS_FOR
