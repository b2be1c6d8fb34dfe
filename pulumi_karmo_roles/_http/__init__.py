"""The HTTP side: one session (:mod:`.session`) with its bounds and redaction, and the
two faces over it, Karmo's writes (:mod:`.karmo`) and WorkOS's reads (:mod:`.workos`).
Nothing here knows Pulumi."""
