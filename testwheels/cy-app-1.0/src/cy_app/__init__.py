import json

import cy_old_user
import cypkg


def main():
    print(json.dumps({
        "app": {"helper": cypkg.helper_version(), "counter_module": cypkg.Counter.__module__},
        "old_user": cy_old_user.report(),
    }, sort_keys=True))
