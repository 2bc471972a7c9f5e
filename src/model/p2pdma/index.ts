export { MapType, MAP_TYPE_NAMES, calcMapTypeAndDist, bridgeHasAcsRedir, mapTypeInputs, type MapTrace } from './map-type.js';
export { P2PDMA_WHITELIST, REQ_SAME_HOST_BRIDGE, cpuSupportsP2pdma, findWhitelistEntry } from './whitelist.js';
export { P2pdmaProvider, mapTypesIdx } from './provider.js';
export { P2pdmaSubsystem, SUBSECTION_SIZE, checkPagemapAlign, type P2pAllocation, type ProviderEvents, type RegistrationRefusal } from './p2pdma.js';
