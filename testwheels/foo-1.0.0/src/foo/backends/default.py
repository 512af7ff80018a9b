class Backend:
    name = "foo1-default"
