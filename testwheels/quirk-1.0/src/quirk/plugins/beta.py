PLUGIN_ID = "beta-1"
