/** A data key standing in for the device vault's in unit tests (the vault has its own tests). */
export const TEST_DATA_KEY: CryptoKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
export const testDataKey = (): CryptoKey => TEST_DATA_KEY;
