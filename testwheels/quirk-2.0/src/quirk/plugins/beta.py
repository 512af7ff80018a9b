PLUGIN_ID = "beta-2"
