import fragile
import fragile_user

VERSIONS = (fragile.__version__, fragile_user.VERSION)
