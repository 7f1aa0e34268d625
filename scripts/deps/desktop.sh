# Desktop tests (tests/desktop) and scripts/screenshot-desktop: a private D-Bus session bus
# (dbus-daemon), a virtual X display (Xvfb), a real notification daemon driven with
# dunstctl (dunst), notify-send (the fallback display), and ImageMagick's import/convert
# for the screenshot. Sourced by scripts/system-deps, which defines apt_install.
apt_install dbus dbus-x11 xvfb xauth dunst libnotify-bin imagemagick fonts-dejavu-core
