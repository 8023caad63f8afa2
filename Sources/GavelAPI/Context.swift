import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird

@_exported import struct GavelWorkflows.Caller

public struct GavelRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// `X-Request-ID` as received (when sane) or generated; echoed and logged.
    public var requestID: String

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = ""
    }

    /// Bodies are read by `JSONBody` with Gavel's own 1 MiB limit.
    public var maxUploadSize: Int { JSONBody.maximumSize }
}
