import pickle

import cypkg


def report():
    counter = cypkg.Counter(41)
    counter.bump()
    again = pickle.loads(pickle.dumps(counter))
    return {
        "helper": cypkg.helper_version(),
        "counter_module": type(counter).__module__,
        "pickled": again.value,
        "same_class": type(again) is cypkg.Counter,
    }
