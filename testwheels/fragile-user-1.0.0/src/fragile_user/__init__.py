import fragile

VERSION = fragile.__version__
