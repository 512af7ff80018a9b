def main():
    return "quirk 2.0 cli"
