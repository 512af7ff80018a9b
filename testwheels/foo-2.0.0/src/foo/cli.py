import foo


def main():
    print("foo", foo.__version__)
