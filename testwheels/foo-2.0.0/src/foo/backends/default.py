class Backend:
    name = "foo2-default"
