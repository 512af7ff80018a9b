def main():
    return "quirk 1.0 cli"
