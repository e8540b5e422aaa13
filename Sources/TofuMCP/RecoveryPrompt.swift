import JSONRPC
import TofuCore

/// The MCP prompt `recover-certificate-mismatch`: Cisco's recovery procedure for a controller
/// whose certificate changed (list the pins, delete the stale one, list again, add the
/// controller again), walked with tofu's tools, with the step the procedure leaves implicit
/// made explicit: a person confirms the new certificate before anything is re-pinned.
enum RecoveryPrompt {
    static let name = "recover-certificate-mismatch"

    static let listing: JSONValue = [
        "name": .string(name),
        "title": "Recover from a certificate mismatch",
        "description": "Walks the recovery of a DNA Center controller whose certificate changed (the TOFU mismatch that breaks the integration), with tofu's tools and a person's confirmation before any re-pin.",
        "arguments": [
            ["name": "host", "description": "The controller's host key as PI shows it (192.0.2.10_443), or its address or name.", "required": true],
        ],
    ]

    /// The prompt for `arguments`, or -32602 naming what is missing or wrong.
    static func get(_ arguments: [String: JSONValue]) throws(ResponseError) -> JSONValue {
        guard let given = arguments["host"], !given.isNull else {
            throw .invalidParams(field: "host", "is required: the controller's host key, e.g. 192.0.2.10_443")
        }
        guard let text = given.stringValue else { throw .invalidParams(field: "host", "must be a string, got \(given.typeName)") }
        let host: HostKey
        do {
            host = try HostKey(parsing: text)
        } catch {
            throw .invalidParams(field: "host", error.description)
        }
        return [
            "description": .string("Recover \(host) from a certificate mismatch"),
            "messages": [["role": "user", "content": ["type": "text", "text": .string(steps(host))]]],
        ]
    }

    private static func steps(_ host: HostKey) -> String {
        """
        The integration with the Cisco DNA Center controller \(host) may be broken because the controller's \
        certificate changed (a new CSR, a redeploy) while tofu still holds the certificate it trusted on first use. \
        Walk the recovery with tofu's tools, one step at a time, and tell me what you find at each step.

        1. Call listCerts with host "\(host)". Report the pin: subject, sha256Fingerprint, notAfter, pinnedAt. \
        If there is no pin, say so and stop: there is nothing stale to remove.
        2. Call verifyCert with host "\(host)". If the status is match, the pin is not the problem: say so and stop. \
        If it is unreachable, report the reason: that is a network problem, not a certificate one; stop. If it is \
        mismatch, report the pinned and the presented sha256Fingerprint, the kind of change (change) and whether the \
        presented certificate is valid now (presentedValidity).
        3. Stop and ask me to confirm the presented fingerprint with the controller's administrator, out of band \
        (for example on the controller's own certificate page). Do not go on until I have confirmed that exact \
        fingerprint. A certificate nobody can vouch for may be someone else answering at this address: if I cannot \
        confirm it, stop and change nothing.
        4. Once I have confirmed it, replace the pin one of two ways, and ask me which:
           a. In one step, with no moment without a pin: addDnacServer with server "\(host)", the username, \
        acceptFingerprint set to the confirmed fingerprint, and checkCredentials false with a placeholder password \
        (it is then never sent anywhere; MCP hosts may log tool arguments, so never ask me for the real password). \
        I can check the credentials myself afterwards with: tofu add-dnac-server --server \(host) --username <user>
           b. As Cisco's procedure does it: deleteCert with host "\(host)" and expectedFingerprint set to the pinned \
        sha256Fingerprint from step 1 (never without it), then listCerts with host "\(host)" to check that the pin is \
        gone, then add the controller again (addDnacServer, or I do it with the CLI), which pins what it presents. \
        Until then the host has no pin.
        5. Call verifyCert with host "\(host)" again: it must now be a match on the confirmed fingerprint. Then call \
        certHistory with host "\(host)" and summarise what changed and when.
        """
    }
}
