from foo.sub.deep import depth  # absolute self-import
