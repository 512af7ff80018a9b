import pickle

import cfoo
import cpkg


def report():
    thing = cfoo.Thing(11)
    try:
        cfoo.fail()
        caught = None
    except cfoo.Error as exc:
        caught = type(exc).__module__
    return {
        "cfoo": cfoo.version(),
        "cfoo_module": cfoo.__name__,
        "thing_module": type(thing).__module__,
        "pickled": pickle.loads(pickle.dumps(thing)).get(),
        "error_module": caught,
        "cpkg_helper": cpkg.helper_version(),
    }
