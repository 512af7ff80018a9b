# Run at interpreter start-up through gizmo.pth: records which copy ran.
import os

os.environ["GIZMO_BOOTED"] = os.environ.get("GIZMO_BOOTED", "") + __name__ + ";"
