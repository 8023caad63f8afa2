import Foundation
import GavelCore
import GavelStore
import Hummingbird
import NIOCore
import PostgresNIO

/// The one place where errors from anywhere below become HTTP problems.
enum ErrorMapping {
    static func problem(for error: any Error, routes: RouteTable, request: Request) -> Problem? {
        switch error {
        case let problem as Problem:
            return problem
        case let failure as ValidationFailure:
            return .validation(failure.errors)
        case let failure as InvoiceOutOfRange:
            return .validation([FieldError(
                field: "hammerPrice",
                message: "the invoice of lot \(failure.lotId.uuidString.lowercased()) would pass \(Money.maximum) minor units",
                code: "amount-out-of-range")])
        case is NIOTooManyBytesError:
            return .payloadTooLarge()
        case is ClientDisconnected:
            return Problem(.clientClosedRequest, code: "client-disconnected", title: "Client Closed Request",
                           detail: "the client closed the connection before the request was read")
        case let error as HTTPError where error.status == .notFound:
            let allowed = routes.allowedMethods(forPath: request.uri.path)
            return allowed.isEmpty
                ? .notFound("no route for \(request.method.rawValue) \(request.uri.path)")
                : .methodNotAllowed(request.method, allowed: allowed)
        case let error as HTTPError where error.status == .contentTooLarge:
            return .payloadTooLarge()
        case let error as HTTPError where (400..<500).contains(error.status.code):
            return Problem(error.status, code: error.status.code == 400 ? "bad-request" : "client-error",
                           title: error.status.reasonPhrase, detail: error.body ?? error.status.reasonPhrase)
        case is DatabaseUnavailable:
            return .serviceUnavailable("the database is unreachable; retry shortly")
        case let error as PSQLError where error.isConnectivityFailure:
            return .serviceUnavailable("the database is unreachable; retry shortly")
        case let error as PSQLError where error.isStatementTimeout:
            return .serviceUnavailable("the database took too long to answer; retry shortly")
        case let error as PSQLError where error.isUniqueViolation:
            return .conflict("this conflicts with an existing record")
        case let error as PSQLError where error.isSerializationFailure:
            return .conflict("a concurrent change won; retry the request")
        default:
            // The pool's own error type lives in an underscored module of PostgresNIO;
            // every case of it (circuit breaker tripped, shut down) means "no database now".
            if String(describing: type(of: error)) == "ConnectionPoolError" {
                return .serviceUnavailable("the database is unreachable; retry shortly")
            }
            return nil
        }
    }
}
