import Testing

@testable import TofuStore

/// What of a PostgreSQL URI no message may show, and messages without it.
struct URISecretsTests {
    @Test func thePasswordOfTheUserInformationAndOfTheQueryAreSecrets() {
        #expect(URISecrets.of("postgresql://tofu:Sekr%3At@db.example:5432/tofu") == ["Sekr%3At", "Sekr:t"])
        #expect(URISecrets.of("postgres://tofu@db.example/tofu?sslmode=require&password=p%41ss") == ["p%41ss", "pAss"])
        #expect(URISecrets.of("postgresql://tofu:one@[::1:5432/tofu?password=two").sorted() == ["one", "two"])
        #expect(URISecrets.of("postgresql://tofu@db.example/tofu?sslmode=require").isEmpty)
        #expect(URISecrets.of("postgresql://tofu:@db.example/tofu").isEmpty)
        #expect(URISecrets.of("not a uri").isEmpty)
    }

    @Test func messagesLoseTheSecretOrAreWithheldWhenItIsShort() {
        let long = URISecrets.scrub(#"invalid percent-encoded token: "p%zzSekr3t""#, URISecrets.of("postgresql://u:p%zzSekr3t@h/d"))
        #expect(long == #"invalid percent-encoded token: "********""#)
        let short = URISecrets.scrub(#"invalid percent-encoded token: "%zz""#, URISecrets.of("postgresql://u:%zz@h/d"))
        #expect(!short.contains("%zz") && short.contains("withheld"))
        #expect(URISecrets.scrub("Connection refused", ["Sekr3t"]) == "Connection refused")
    }
}
