/* The low-level RSA and EC_KEY interfaces are deprecated in OpenSSL 3 but remain supported;
   the vTPM needs exactly their raw operations (seeded key construction, OAEP with labels,
   PSS with explicit salt, full ECDH points). */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/crypto.h>
/* Provider dispatch tables: DiskEncryption drives AES-XTS through them (provider-cipher(7)). */
#include <openssl/core_dispatch.h>
#include <openssl/provider.h>
