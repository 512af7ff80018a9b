import json

import c_old_user
import cfoo
import cpkg


def main():
    print(json.dumps({
        "app": {"cfoo": cfoo.version(), "thing_module": cfoo.Thing.__module__, "cpkg_helper": cpkg.helper_version()},
        "old_user": c_old_user.report(),
    }, sort_keys=True))
