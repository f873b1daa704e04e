// swift-tools-version: 6.1
import PackageDescription

let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let cryptoExtras: Target.Dependency = .product(name: "_CryptoExtras", package: "swift-crypto")
let x509: Target.Dependency = .product(name: "X509", package: "swift-certificates")
let asn1: Target.Dependency = .product(name: "SwiftASN1", package: "swift-asn1")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")

let package = Package(
    name: "CVMKit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cvm", targets: ["cvm"]),
        .library(name: "TPM2", targets: ["TPM2"]),
        .library(name: "VirtualTPM", targets: ["VirtualTPM"]),
        .library(name: "TPMClient", targets: ["TPMClient"]),
        .library(name: "TPMFuzzing", targets: ["TPMFuzzing"]),
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "SEVSNP", targets: ["SEVSNP"]),
        .library(name: "Authenticode", targets: ["Authenticode"]),
        .library(name: "PCRPrediction", targets: ["PCRPrediction"]),
        .library(name: "DiskEncryption", targets: ["DiskEncryption"]),
        .library(name: "DiskEncryptionTPM", targets: ["DiskEncryptionTPM"]),
        .library(name: "KeyBroker", targets: ["KeyBroker"]),
        .library(name: "AttestationServer", targets: ["AttestationServer"]),
        .library(name: "AttestationClient", targets: ["AttestationClient"]),
        .library(name: "Attestation", targets: ["Attestation"]),
        .library(name: "GuestAttestation", targets: ["GuestAttestation"]),
        .library(name: "GuestAgent", targets: ["GuestAgent"]),
        .library(name: "CVMDemo", targets: ["CVMDemo"]),
        .library(name: "AzureCVM", targets: ["AzureCVM"]),
        .library(name: "EmulatedPlatform", targets: ["EmulatedPlatform"]),
        .library(name: "TDX", targets: ["TDX"]),
        .library(name: "ReferenceValueDerivation", targets: ["ReferenceValueDerivation"]),
        .library(name: "EvidenceCore", targets: ["EvidenceCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.0"),
    ],
    targets: [
        // OpenSSL's libcrypto (Debian's libssl-dev) for the big-number work swift-crypto does not
        // expose: raw RSA, prime testing for seed-derived RSA keys, full ECDH points.
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "TPM2", dependencies: [crypto, cryptoExtras, x509, asn1]),
        .target(name: "VirtualTPM", dependencies: ["TPM2", "CLibCrypto", crypto, cryptoExtras, logging]),
        .target(name: "TPMClient", dependencies: ["TPM2", "VirtualTPM"]),
        .target(name: "TPMFuzzing", dependencies: ["TPM2", "VirtualTPM", "TPMClient"]),
        .target(name: "EventLog", dependencies: [crypto, x509, asn1]),
        .target(name: "SEVSNP", dependencies: ["EvidenceCore", "CLibCrypto", crypto, cryptoExtras, x509, asn1]),
        .target(name: "Authenticode", dependencies: ["EventLog", crypto, x509, asn1]),
        .target(name: "PCRPrediction", dependencies: ["EventLog", "Authenticode"]),
        .target(name: "DiskEncryption", dependencies: ["CLibCrypto", crypto, cryptoExtras]),
        .target(name: "DiskEncryptionTPM", dependencies: ["DiskEncryption", "TPM2", "TPMClient", "EventLog", "PCRPrediction", crypto]),
        .target(name: "KeyBroker", dependencies: [crypto]),
        .target(
            name: "AttestationServer",
            dependencies: [
                "Attestation", "KeyBroker", crypto, logging,
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            resources: [.copy("Resources/openapi.json")]
        ),
        .target(
            name: "AttestationClient",
            dependencies: [
                "KeyBroker", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Attestation",
            dependencies: ["SEVSNP", "TPM2", "EventLog", "AzureCVM", "TDX", crypto, x509, .product(name: "JWTKit", package: "jwt-kit")]
        ),
        .target(name: "GuestAttestation", dependencies: ["EvidenceCore", "SEVSNP", "TPM2", "TPMClient"]),
        .target(name: "GuestAgent", dependencies: ["GuestAttestation", "Attestation", "AttestationClient", "KeyBroker", "SEVSNP", "TPM2", "TPMClient", crypto]),
        .target(name: "AzureCVM", dependencies: ["SEVSNP", "TPM2", "EvidenceCore", crypto, cryptoExtras]),
        .target(
            name: "EmulatedPlatform",
            dependencies: [
                "AzureCVM", "SEVSNP", "TPM2", "TPMClient", "VirtualTPM", "EventLog", "Authenticode", "PCRPrediction",
                "DiskEncryption", "DiskEncryptionTPM", crypto, x509, asn1,
            ]
        ),
        .target(name: "TDX", dependencies: ["EventLog", "EvidenceCore", crypto, x509, asn1]),
        .target(name: "EvidenceCore", dependencies: [x509, asn1]),
        .target(name: "ReferenceValueDerivation", dependencies: ["Attestation", "SEVSNP", "PCRPrediction", "Authenticode", "EventLog", "TPM2"]),
        .target(
            name: "CVMDemo",
            dependencies: [
                "AttestationServer", "AttestationClient", "Attestation", "GuestAgent", "EmulatedPlatform", "DiskEncryption", "EventLog", "KeyBroker",
                "SEVSNP", "TPM2", crypto, logging,
            ]
        ),
        .executableTarget(
            name: "cvm",
            dependencies: [
                "TPM2", "VirtualTPM", "TPMClient", "TPMFuzzing", "EventLog", "SEVSNP", "Authenticode", "PCRPrediction", "DiskEncryption", "DiskEncryptionTPM", "KeyBroker", "AttestationServer", "AttestationClient", "Attestation", "GuestAttestation", "GuestAgent", "CVMDemo", "AzureCVM", "EmulatedPlatform", "TDX", "ReferenceValueDerivation", "EvidenceCore", logging, x509, asn1,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "TPM2Tests", dependencies: ["TPM2", crypto, cryptoExtras, x509]),
        .testTarget(name: "VirtualTPMTests", dependencies: ["VirtualTPM", "TPMClient", "TPMFuzzing", "TPM2", "TestSupport", crypto, logging]),
        .testTarget(name: "EventLogTests", dependencies: ["EventLog", crypto]),
        .testTarget(name: "SEVSNPTests", dependencies: ["SEVSNP", "EvidenceCore", "TestSupport", crypto, x509]),
        .testTarget(name: "CVMDemoTests", dependencies: ["CVMDemo"]),
        .testTarget(name: "KeyBrokerTests", dependencies: ["KeyBroker", crypto]),
        .testTarget(
            name: "AttestationServerTests",
            dependencies: [
                "AttestationServer", "AttestationClient", "Attestation", "KeyBroker", "SEVSNP", "TDX", "TDXTestSupport", "TestSupport", crypto, logging, asn1,
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(name: "GuestAttestationTests", dependencies: ["GuestAttestation", "SEVSNP", "TPM2", "TPMClient", "VirtualTPM", "TestSupport", crypto]),
        .testTarget(name: "AzureCVMTests", dependencies: ["AzureCVM", "SEVSNP", "TPM2", crypto, cryptoExtras, x509]),
        .testTarget(
            name: "EmulatedPlatformTests",
            dependencies: [
                "EmulatedPlatform", "AzureCVM", "SEVSNP", "TPM2", "TPMClient", "EventLog", "PCRPrediction", "Authenticode", "DiskEncryptionTPM", "Attestation",
                "TestSupport", asn1,
            ]
        ),
        .testTarget(
            name: "DiskEncryptionTests",
            dependencies: ["DiskEncryption", "DiskEncryptionTPM", "TPM2", "TPMClient", "VirtualTPM", "EventLog", "Authenticode", "PCRPrediction", crypto]
        ),
        .testTarget(name: "AuthenticodeTests", dependencies: ["Authenticode", "PCRPrediction", "EventLog", x509, asn1]),
        .testTarget(
            name: "AttestationTests",
            dependencies: ["Attestation", "SEVSNP", "TPM2", "EventLog", "AzureCVM", "TDX", "TDXTestSupport", "VirtualTPM", "TPMClient", crypto, x509,
                           .product(name: "JWTKit", package: "jwt-kit")]
        ),
        .testTarget(name: "TDXTests", dependencies: ["TDX", "TDXTestSupport", "TestSupport", "EventLog", crypto, x509, asn1]),
        // The synthetic TDX platform (test CA, quotes, collateral) the TDX, Attestation and
        // AttestationServer tests share; test support only, no library depends on it.
        .target(name: "TDXTestSupport", dependencies: ["TDX", "TestSupport", crypto, x509, asn1], path: "Tests/TDXTestSupport"),
        // What several test targets share: the testdata locator, hex literals, child processes.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "EvidenceCoreTests", dependencies: ["EvidenceCore", x509]),
        .testTarget(
            name: "ReferenceValueDerivationTests",
            dependencies: [
                "ReferenceValueDerivation", "Attestation", "EmulatedPlatform", "SEVSNP", "PCRPrediction", "Authenticode", "EventLog", "TPM2", "TPMClient",
                "TestSupport", crypto,
            ]
        ),
    ]
)
