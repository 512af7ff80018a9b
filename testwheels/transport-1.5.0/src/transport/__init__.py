GENERATION = 1


def send(data):
    return "transport1:" + data
