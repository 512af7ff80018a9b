PLUGIN_ID = "alpha-1"
