// SPDX-License-Identifier: MIT
import DigitJSON
import Hummingbird
import NIOCore

/// The server's routes: the API, the OpenAPI document and the page.
enum Routes {
    static func router(api: ClassifierAPI, maxBody: Int) -> Router<BasicRequestContext> {
        let router = Router()
        // First, so that it also wraps the router's own 404 and 405.
        router.add(middleware: JSONErrorMiddleware(maxBody: maxBody))

        router.post("/v1/classify") { request, _ in try await api.classify(request) }
        router.post("/v1/classify/batch") { request, _ in try await api.classifyBatch(request) }
        router.get("/v1/model") { _, _ in JSONBody.response(api.recognizer.info) }
        router.get("/healthz") { _, _ in JSONBody.response(["status": "ok"]) }

        router.get("/openapi.json") { _, _ in asset(WebAssets.openAPI, type: "application/json") }
        router.get("/") { _, _ in asset(WebAssets.indexHTML, type: "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in asset(WebAssets.appJS, type: "text/javascript; charset=utf-8") }
        router.get("/style.css") { _, _ in asset(WebAssets.styleCSS, type: "text/css; charset=utf-8") }
        return router
    }

    /// An embedded file; the page loads nothing from elsewhere.
    static func asset(_ text: String, type: String) -> Response {
        Response(status: .ok,
                 headers: [.contentType: type, .cacheControl: "no-cache",
                           .contentSecurityPolicy: "default-src 'self'; img-src 'self' data: blob:"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
