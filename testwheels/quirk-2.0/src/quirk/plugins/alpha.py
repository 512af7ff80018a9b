PLUGIN_ID = "alpha-2"
