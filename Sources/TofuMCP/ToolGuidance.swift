import JSONRPC

/// What a model needs beyond a method's schema: when to use the tool, where it sits in the
/// outage's steps, and annotations that tell the truth about what it changes.
///
/// A method without an entry is still a tool (its description is the protocol document's) and
/// has no annotations, which MCP clients read as the cautious defaults: it may write, destroy
/// and reach outside.
struct ToolGuidance: Sendable {
    let title: String
    /// Nothing is written, not even a time or a history event.
    let readOnly: Bool
    /// It may remove or replace what the store holds (a pin, a staged certificate, a server record).
    let destructive: Bool
    /// Repeating the call with the same arguments changes nothing more.
    let idempotent: Bool
    /// It connects to hosts outside this machine's store.
    let openWorld: Bool
    let advice: String

    var annotations: JSONValue {
        [
            "title": .string(title), "readOnlyHint": .bool(readOnly), "destructiveHint": .bool(destructive),
            "idempotentHint": .bool(idempotent), "openWorldHint": .bool(openWorld),
        ]
    }

    static let forMethod: [String: ToolGuidance] = [
        "listCerts": ToolGuidance(
            title: "List pinned certificates", readOnly: true, destructive: false, idempotent: true, openWorld: false,
            advice: """
                Step 1 of recovering from a certificate change, and the way to check what is trusted: lists the pinned \
                certificates, one per host key (PI's form, e.g. 192.0.2.10_443). The text is PI's `listcerts` lines \
                (host=…;  subject=…); the structured result has every field, among them sha256Fingerprint, the value \
                deleteCert's expectedFingerprint takes. Give host to see one pin; expiringWithinDays finds the pins whose \
                certificate ends soon (the next outage).
                """),
        "verifyCert": ToolGuidance(
            title: "Compare a host's certificate with its pin", readOnly: false, destructive: false, idempotent: false, openWorld: true,
            advice: """
                Connects to the host over TLS and compares the certificate it presents with its pin: status match, \
                mismatch (the controller presents another certificate: the outage; `change` says newKey or reissuedSameKey), \
                unpinned or unreachable. It never pins and never deletes, but it is not read-only: a match records \
                lastVerifiedAt, a change of verdict (a first mismatch, a match after one) a history event, and a host that presents the certificate \
                an operator staged beforehand (pinCert with next) has it promoted to the pin. With all: true it checks \
                every pin and reports progress when the call carries _meta.progressToken. With pem it compares offline, \
                changing nothing. A mismatch is never something to fix on your own: show both fingerprints to a person.
                """),
        "deleteCert": ToolGuidance(
            title: "Delete a pin", readOnly: false, destructive: true, idempotent: true, openWorld: false,
            advice: """
                Deletes the pin of a host (PI's `deletecert host`), so that the next addDnacServer trusts whatever \
                certificate the host then presents. Always pass expectedFingerprint: the sha256Fingerprint you just saw \
                in listCerts; if the pin is another certificate, nothing is deleted. Until the host is added again it has \
                no pin: prefer addDnacServer with acceptFingerprint, which re-pins in one step with no such window. Only \
                after a person confirmed the new certificate with the controller's administrator.
                """),
        "pinCert": ToolGuidance(
            title: "Pin a certificate given as PEM", readOnly: false, destructive: true, idempotent: false, openWorld: false,
            advice: """
                Pins a certificate obtained out of band (e.g. from the controller's administrator), before the first \
                connection; it never replaces a different pin. With next: true it stages the certificate a host will \
                present after a planned rotation, replacing what was staged before (that is why the tool is marked \
                destructive).
                """),
        "certHistory": ToolGuidance(
            title: "Show the pin history", readOnly: true, destructive: false, idempotent: true, openWorld: false,
            advice: """
                The audit trail, oldest first: every pin, replacement, deletion, staging, promotion, and each change of \
                verdict (a first mismatch, a match after one), with the fingerprint concerned; filter by host, event and since. Use it to tell a person when a certificate changed and what it was before.
                """),
        "setPinPolicy": ToolGuidance(
            title: "Set a pin's policy", readOnly: false, destructive: false, idempotent: true, openWorld: false,
            advice: """
                Sets what a pin accepts: certificate (exactly this certificate, PI's behaviour) or publicKey (any \
                certificate with the pinned key, so a renewal that keeps the key passes). Widening trust is a person's \
                decision: ask before changing it.
                """),
        "addDnacServer": ToolGuidance(
            title: "Add (or re-add) a DNA Center server", readOnly: false, destructive: true, idempotent: false, openWorld: true,
            advice: """
                PI's 'Add Cisco DNA Center Server': connects over TLS, pins the certificate on first use, then checks the \
                credentials over that same connection. When the host's pin differs it answers a mismatch and sends nothing. \
                With acceptFingerprint (the presented certificate's sha256Fingerprint, confirmed by a person with the \
                controller's administrator) it replaces the pin in one step, and only once the credentials were accepted. \
                The password is a tool argument, which MCP hosts may log: prefer checkCredentials false with a placeholder \
                password (it is then never sent anywhere), and let a person check the credentials with the tofu CLI.
                """),
        "listDnacServers": ToolGuidance(
            title: "List DNA Center servers", readOnly: true, destructive: false, idempotent: true, openWorld: false,
            advice: "The DNA Center servers that were added, with their username and the fingerprint pinned when they were."),
        "removeDnacServer": ToolGuidance(
            title: "Forget a DNA Center server", readOnly: false, destructive: true, idempotent: true, openWorld: false,
            advice: "Forgets a recorded DNA Center server. Its pin stays (delete it with deleteCert if that is what is wanted)."),
        "pruneHistory": ToolGuidance(
            title: "Delete old history events", readOnly: false, destructive: true, idempotent: true, openWorld: false,
            advice: """
                Deletes the history events older than before (of one host, or of all): the audit trail a person may need \
                to tell when a certificate changed. Pins are never touched. Only when a person asked for it.
                """),
        "exportPins": ToolGuidance(
            title: "Export the whole store", readOnly: true, destructive: false, idempotent: true, openWorld: false,
            advice: """
                Reads the whole store a page at a time (follow nextCursor until it is null), host by host: each pin with \
                its certificates in PEM, its history and its DNA Center server. For moving a store (importPins takes the \
                records as they come) or keeping a copy; nothing is written.
                """),
        "importPins": ToolGuidance(
            title: "Import exported pins", readOnly: false, destructive: true, idempotent: true, openWorld: false,
            advice: """
                Takes exportPins' records into this store, host by host: a host the store does not pin is imported, one \
                pinned the same way is left as it is, one pinned differently is refused as a conflict (both fingerprints \
                reported) unless replace is true, which replaces the store's pin: a person's decision, ask first.
                """),
        "backupStore": ToolGuidance(
            title: "Back up the store to a file", readOnly: false, destructive: false, idempotent: false, openWorld: false,
            advice: """
                Writes a consistent copy of the SQLite store to path (on the machine tofu-rpc runs on; a new file named \
                *.sqlite, *.sqlite3 or *.db), safe while other processes write; the store itself is not changed. A PostgreSQL store is refused: it is backed up with pg_dump.
                """),
    ]
}
