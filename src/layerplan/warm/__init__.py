"""The build daemon: a warm layerplan process that runs commands in a fork of itself.

A command's time on a code change is mostly the interpreter's start and its imports
(~0.2 s of a ~0.35 s rebuild); Gradle's daemon (which Jib's rebuilds run in), Bazel's server
and Pants' pantsd keep a process warm for the same reason. With ``LAYERPLAN_DAEMON=1`` the
``layerplan`` command hands its arguments, environment, working directory and standard
streams to a server that has imported the build's modules once; the server forks a child
per command, so each command still runs in a process of its own, with nothing carried over
from the one before but imported code. The server declines (and exits) when any file of
that code changed since it started, so an upgrade or an edit never runs stale code.

``address`` names a server's socket; ``wire`` frames the messages; ``server`` is the warm
process and ``child`` the process it forks per command; ``learning`` lets a server import
what its children imported; ``process`` is a served command seen as a process, and starts
servers; ``client`` is what the ``layerplan`` command runs. The app backend's warm process
(``install.warm_backend``) is the same server in a build environment. This package imports
only the standard library, relatively within itself: the client must stay light, and the
backend's server loads it by path where there is no ``layerplan``.
"""
