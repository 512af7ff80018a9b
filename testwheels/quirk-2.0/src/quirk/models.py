VALUE = 70


class Thing:
    def __init__(self, value=2, *, label="two"):
        self.value = value
        self.label = label


def read_value():
    return VALUE
