import json

import foo
import slow_package


def main():
    print(json.dumps({
        "myapp": {
            "foo_version": foo.__version__,
            "foo_module": foo.__name__,
            "greeting": foo.greet("myapp", greeting="hi"),
            "backend": foo.backend().name,
        },
        "slow_package": slow_package.report(),
    }, sort_keys=True))


if __name__ == "__main__":
    main()
