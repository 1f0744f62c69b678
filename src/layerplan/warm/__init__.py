"""The build daemon: a warm layerplan process that runs commands in a fork of itself.

A command's time on a code change is mostly the interpreter's start and its imports
(~0.2 s of a ~0.35 s rebuild); Gradle's daemon (which Jib's rebuilds run in), Bazel's server
and Pants' pantsd keep a process warm for the same reason. With ``LAYERPLAN_DAEMON=1`` the
``layerplan`` command hands its arguments, environment, working directory and standard
streams to a server that has imported the build's modules once; the server forks a child
per command, so each command still runs in a process of its own, with nothing carried over
from the one before but imported code. The server declines (and exits) when any file of
that code changed since it started, so an upgrade or an edit never runs stale code.

``address`` names the server's socket for one interpreter and layerplan; ``wire`` frames its
messages; ``server`` is the warm process; ``client`` is what the ``layerplan`` command runs.
This package imports only the standard library at its top: the client must stay light.
"""
