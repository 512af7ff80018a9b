"""The app: foo 2's API here, and slow-package, which uses foo 1's API, in the same process."""

import foo
import slow_package

print(f"app: foo {foo.__version__} (API {foo.API}): {foo.greet('app', greeting='hello')}")
print(f"slow-package: {slow_package.report()}")
