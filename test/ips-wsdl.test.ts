import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { WSDL_DIR } from '../src/protocols/ips/index.js'
import { IPS_VERSIONS, wsdlFileName } from '../src/protocols/ips/versions.js'
import { generateWsdl } from '../src/protocols/ips/wsdl.js'
import { parseXml } from '../src/protocols/soap/xml.js'

describe('IPS WSDL files', () => {
  it('are exactly what the generator writes, one per supported version and no others', async () => {
    const committed = (await readdir(WSDL_DIR)).filter((file) => file.startsWith('IpsApi')).sort()
    expect(committed).toEqual(IPS_VERSIONS.map(wsdlFileName).sort())
    for (const version of IPS_VERSIONS) {
      const file = await readFile(path.join(WSDL_DIR, wsdlFileName(version)), 'utf8')
      expect(file, `${wsdlFileName(version)} is stale: run npm run generate:wsdl`).toBe(generateWsdl(version))
    }
  })

  it('declare the three fault elements in the unversioned namespace and the trash operations from 4.0', () => {
    for (const version of IPS_VERSIONS) {
      const root = parseXml(generateWsdl(version))
      const schemas = root.children.find((c) => c.name === 'types')!.children
      const common = schemas.find((s) => s.attrs.targetNamespace === 'http://www.scene7.com/IpsApi/xsd')!
      const names = common.children.map((c) => c.attrs.name)
      expect(names).toEqual(
        expect.arrayContaining(['authHeader', 'authenticationFault', 'authorizationFault', 'ipsApiFault']),
      )
      const operations = root.children.find((c) => c.name === 'portType')!.children.map((c) => c.attrs.name)
      expect(operations).toEqual(
        expect.arrayContaining(['deleteAsset', 'searchAssets', 'getAssets', 'checkLogin']),
      )
      const trashOps = ['deleteAssets', 'emptyAssetsFromTrash', 'restoreAssetsFromTrash']
      if (version.key === '') expect(operations).not.toEqual(expect.arrayContaining([trashOps[0]]))
      else expect(operations).toEqual(expect.arrayContaining(trashOps))
      const bindings = root.children.filter((c) => c.name === 'binding').map((c) => c.attrs.name)
      expect(bindings).toEqual(['IpsApiSoapBinding', 'IpsApiSoap12Binding'])
    }
  })
})
