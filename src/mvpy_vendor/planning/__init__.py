"""Planning: from a :class:`~mvpy_vendor.options.BuildRequest` to a frozen plan that holds every
decision. :mod:`.resolve` finds the worlds, :mod:`.plan` decides the outputs and name maps,
:mod:`.members` what happens to each member; :mod:`.planner` runs them in order."""
