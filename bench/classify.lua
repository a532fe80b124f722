-- SPDX-License-Identifier: MIT
-- wrk script: every request POSTs one digit PNG to /v1/classify.
-- The file is $DIGIT_PNG, else samples/digit-7.png (200x200, 8-bit gray).
local path = os.getenv("DIGIT_PNG") or "samples/digit-7.png"
local file = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
wrk.headers["Content-Type"] = "image/png"
file:close()
