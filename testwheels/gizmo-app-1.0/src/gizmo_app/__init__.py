import gizmo
import gizmo_old_user

SEES = {"app": gizmo.VERSION, "old_user": gizmo_old_user.SEES}
