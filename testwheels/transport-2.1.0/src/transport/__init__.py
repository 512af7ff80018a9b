GENERATION = 2


def send(data, *, retries):
    return "transport2:" + data
