# Sourced by scripts/system-deps: headless Chromium and its WebDriver for the browser
# receiver's tests (tests/web, driven by Selenium from the `test` extra), and openssl for
# the certificate of the HTTPS test.
apt_install chromium chromium-driver openssl
